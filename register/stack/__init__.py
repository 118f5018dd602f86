"""Running the stack on one machine: the embedded PostgreSQL and Mosquitto (`embedded`, with
`postgres`, `mosquitto` and what both need from the host in `runtime`), the process supervisor
(`supervisor`), and the `services` and `up` commands (`cli/`)."""

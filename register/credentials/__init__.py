"""Device credentials on the broker: each device's MQTT password, kept only as Mosquitto's
hash, and the broker files that let a device publish only as itself."""

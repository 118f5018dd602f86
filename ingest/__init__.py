"""The MQTT ingester: payload formats, checks against the register, and the batched writer."""

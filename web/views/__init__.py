"""The web application's blueprints, one module each."""

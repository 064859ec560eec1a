"""The web pages: Flask blueprints."""

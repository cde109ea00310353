"""The groups of fields that make up newsletter.config.Settings, one module per area.

Import settings from newsletter.config, never from here: config.py assembles these
groups into Settings (and says which module holds which group), re-exports the
helpers defined here, and reads the environment.
"""

"""``ai-trading new-plugin``: a new plugin distribution from the project's template."""

from .generate import ROLES, generate_plugin, template_path

__all__ = ["ROLES", "generate_plugin", "template_path"]

"""{{ cookiecutter.description }}"""

from .component import {{ cookiecutter.class_name }}, {{ cookiecutter.class_name }}Params

__all__ = ["{{ cookiecutter.class_name }}", "{{ cookiecutter.class_name }}Params"]

"""The template's files are Jinja, not Python: pytest must not collect them. The rendered
template is tested by tests/test_plugin_template.py."""

collect_ignore = ["{{cookiecutter.distribution}}", "hooks"]

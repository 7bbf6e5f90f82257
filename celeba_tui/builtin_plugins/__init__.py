"""Built-in plugins: the study's six architectures and the preprocessing ops.

Registered exactly like third-party plugins (see `celeba_tui.plugins.DEFAULT_PLUGINS`),
so they double as examples of the plugin API; `plugins/example_plugin/` at the top of
the repository is a complete third-party plugin package. Plugin modules do not import torch; the
networks are built (and torch imported) only when `Architecture.build` is called.
"""

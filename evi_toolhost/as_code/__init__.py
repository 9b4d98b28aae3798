"""EVI configuration as code: one `evi.yaml` in the user's repository declares prompts and configs (with their
tools by name), optionally per environment; `plan` compares it with Hume field by field, `apply` creates or
versions exactly what differs, `pull` writes the file from a config that exists.

- `yaml_lines`: where in the YAML text a value is, so an error names the line;
- `evi_file`: the file's shape, loaded and checked (an error names the line and the field);
- `plan`: the file against Hume: each prompt, tool and config to create, version or keep, with its changes;
- `apply`: the plan carried out, in order (tools, prompts, then the configs that reference them);
- `pull`: a config as Hume has it, turned into the file that declares it.
"""


class AsCodeError(Exception):
    """The file or Hume's state does not allow the operation; the message says what and where."""

"""Copy models between registries and OCI image layouts, digests preserved (issue 14).

- `verify`: sha256 checked while bytes stream; the last chunk is held back until it holds
- `layout`: an OCI image layout on disk (read with verification, written atomically)
- `locations`: DEST/`--from` parsing and the repository a model gets at a destination
- `auth`: registry credentials (docker config, environment) and challenge answers
- `remote`: the registry side of the OCI distribution API (manifests, blobs, uploads)
- `endpoints`: one source/destination interface over a registry and a layout
- `select`: which models a manifest needs mirrored (registry models and custom bases)
- `copy`: the copy engine (HEAD first, mount, stream, manifest last) and its report
"""

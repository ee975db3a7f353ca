"""Modelfile text <-> CreateSpec, with the grammar and typing of Ollama's own parser.

Reading follows Ollama's `parser/parser.go` (ParseFile, then CreateRequest) and
`api.FormatParams`, which agree at v0.11.4 and v0.32.15 except that REQUIRES
exists only in the later one. One module per job:
- grammar.py: the characters of ParseFile -> commands (quotes, comments, printable);
- parse.py: commands -> CreateSpec, as CreateRequest gives each one its meaning;
- paths.py: FROM and ADAPTER on the file system (and what we refuse there);
- requires.py: REQUIRES <semantic version>;
- parameters.py: the one typed parameter table, read by every form and by export;
- values.py: parameter text typed as Go's strconv does, numbers as the CLI's float32;
- write.py: CreateSpec -> Modelfile text that parses back to it;
- request.py: CreateSpec -> the body of POST /api/create.
"""

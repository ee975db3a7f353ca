// Command modelfile-parser runs Ollama's own Modelfile parser, the reference for ours.
//
// Built by tests/testbed/build.py against the Ollama module of each tested release
// (a go.mod written at build time requires github.com/ollama/ollama at that version).
//
//	modelfile-parser parse FILE   the create request the Ollama CLI would send, as JSON
//	modelfile-parser printable    the code point ranges strconv.IsPrint rejects, as JSON
//
// parse does what `ollama create -f FILE` does before its upload: parser.ParseFile,
// then CreateRequest relative to FILE's folder, then file paths replaced by their
// base names (the keys the CLI sends). A parse error is printed as {"error": "..."}.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unicode"

	"github.com/ollama/ollama/parser"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: modelfile-parser parse FILE | printable")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "parse":
		parse(os.Args[2])
	case "printable":
		printable()
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

func emit(v any) {
	out, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func parse(file string) {
	f, err := os.Open(file)
	if err != nil {
		emit(map[string]string{"error": err.Error()})
		return
	}
	defer f.Close()
	modelfile, err := parser.ParseFile(f)
	if err != nil {
		emit(map[string]string{"error": err.Error()})
		return
	}
	req, err := modelfile.CreateRequest(filepath.Dir(file))
	if err != nil {
		emit(map[string]string{"error": err.Error()})
		return
	}
	req.Files = baseNames(req.Files)
	req.Adapters = baseNames(req.Adapters)
	emit(req)
}

func baseNames(files map[string]string) map[string]string {
	if files == nil {
		return nil
	}
	out := make(map[string]string, len(files))
	for path, digest := range files {
		out[filepath.Base(path)] = digest
	}
	return out
}

func printable() {
	var ranges [][2]rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if strconv.IsPrint(r) {
			continue
		}
		if n := len(ranges); n > 0 && ranges[n-1][1] == r-1 {
			ranges[n-1][1] = r
		} else {
			ranges = append(ranges, [2]rune{r, r})
		}
	}
	emit(map[string]any{"unicode": unicode.Version, "not_printable": ranges})
}

// Package funclen holds a test of the module's shape: no hand-written
// function over maxLines lines, unless allow.txt gives the reason.
package funclen

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxLines is the longest a function may be, from its declaration line
// to its closing brace: past it, a reader needs the parts named.
const maxLines = 80

// TestFunctionLength fails on a hand-written (not generated), non-test
// function of the module longer than maxLines that allow.txt does not
// list, and on an entry of allow.txt that no longer names such a
// function, so the list only shrinks.
func TestFunctionLength(t *testing.T) {
	root := filepath.Join("..", "..")
	allowed := readAllow(t, "allow.txt")
	long, err := longFunctions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range long {
		if _, ok := allowed[f.name]; ok {
			delete(allowed, f.name)
			continue
		}
		t.Errorf("%s:%d: %s is %d lines, over %d: split it where a reader would name the parts (or give the reason in tools/funclen/allow.txt)",
			f.file, f.line, f.name, f.lines, maxLines)
	}
	for name := range allowed {
		t.Errorf("allow.txt lists %s, which is no longer over %d lines (or gone): remove the entry", name, maxLines)
	}
}

type longFunc struct {
	name, file  string // name is "path/to/file.go Recv.Func"
	line, lines int
}

// longFunctions lists the module's hand-written functions over maxLines,
// skipping tests, testdata, generated files and nested modules.
func longFunctions(root string) ([]longFunc, error) {
	var out []longFunc
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); p != root && err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			start, end := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
			if n := end - start + 1; n > maxLines {
				out = append(out, longFunc{name: rel + " " + funcName(fd), file: rel, line: start, lines: n})
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, err
}

// funcName is Func, or Recv.Func for a method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch x := t.(type) {
	case *ast.IndexExpr:
		t = x.X
	case *ast.IndexListExpr:
		t = x.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// readAllow reads the allow list: "path/to/file.go Func  reason" a line,
// the reason required; blank lines and lines starting with # are skipped.
func readAllow(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	allowed := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 3 {
			t.Errorf("%s:%d: want \"path/to/file.go Func  reason\", the reason required", name, n)
			continue
		}
		key := fields[0] + " " + fields[1]
		if _, dup := allowed[key]; dup {
			t.Errorf("%s:%d: %s listed twice", name, n, key)
		}
		allowed[key] = strings.Join(fields[2:], " ")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(fmt.Errorf("read %s: %w", name, err))
	}
	return allowed
}

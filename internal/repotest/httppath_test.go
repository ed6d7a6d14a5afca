package repotest

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestOneHTTPPath keeps every HTTP exchange of the SDK on the one path,
// internal/transport. It type-checks every package of the
// module (non-test files) and fails on any call of:
//
//   - (*net/http.Client).Do, Get, Head, Post or PostForm;
//   - net/http.Get, Head, Post or PostForm (the default client);
//   - a RoundTrip method of any type, unless the call is inside a RoundTrip
//     method itself (a RoundTripper delegating to the next one, such as
//     tap's signing transport, sends nothing of its own).
//
// The rule covers SDK traffic, so it leaves out code that is not: the
// sandbox server and its tools (sandbox/..., cmd/...), examples
// (examples/...), the test suites (test/..., internal/testutil, every
// _test.go file) and the nested otel module (its own go.mod). One named
// exception remains, listed in allowed below with its reason.
func TestOneHTTPPath(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the module")
	}
	root := repoRoot(t)
	// Export data of every package and dependency, from the build cache.
	cmd := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}\t{{.Dir}}\t{{.Module}}\t{{join .GoFiles \" \"}}", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	type pkg struct {
		path, dir string
		files     []string
	}
	var mine []pkg
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	const module = "github.com/vicgo/visa"
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			continue
		}
		exports[f[0]] = f[1]
		if strings.HasPrefix(f[3], module) && (f[0] == module || strings.HasPrefix(f[0], module+"/")) && f[4] != "" {
			mine = append(mine, pkg{f[0], f[2], strings.Fields(f[4])})
		}
	}
	imp := importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(exports[path])
	})
	checked := 0
	var problems []string
	for _, p := range mine {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.path, module), "/")
		if excludedFromHTTPRule(rel) {
			continue
		}
		fset := token.NewFileSet()
		var files []*ast.File
		for _, name := range p.files {
			f, err := parser.ParseFile(fset, filepath.Join(p.dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Uses: map[*ast.Ident]types.Object{}}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.path, fset, files, info); err != nil {
			t.Fatalf("type-checking %s: %v", p.path, err)
		}
		checked++
		for _, f := range files {
			problems = append(problems, httpCalls(fset, f, info, rel)...)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked: the rule would prove nothing", checked)
	}
	sort.Strings(problems)
	for _, p := range problems {
		t.Errorf("an HTTP exchange outside internal/transport: %s", p)
	}
}

// excludedFromHTTPRule lists the directories TestOneHTTPPath leaves out:
// the one path itself and code that does not send SDK traffic.
func excludedFromHTTPRule(rel string) bool {
	for _, p := range []string{"internal/transport", "sandbox", "cmd", "examples", "test", "internal/testutil"} {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	return false
}

// allowed are the calls the rule lets through, keyed by the file (its
// directory and name) and the callee,
// each with its reason.
var allowed = map[string]string{
	// The Trusted Agent Protocol verifier's key-directory fetch runs on
	// the merchant's side (tap.JWKS, tap.Directories), not a call to Visa;
	// it has its own cache and failure policy (a failure is cached for
	// FailureTTL), so it keeps its client for now.
	"tap/fetch.go: (*net/http.Client).Do": "merchant-side key directory",
	// The MCP server's HTTP front door verifies its own clients' OAuth
	// access tokens: it fetches the authorization server's metadata and
	// JWKS, not Visa; it is the MCP server's inbound security, outside the
	// SDK's calls to Visa.
	"mcpserver/mcphttp/jwt.go: (*net/http.Client).Do": "MCP OAuth metadata and JWKS",
}

// httpCalls returns the forbidden calls of f.
func httpCalls(fset *token.FileSet, f *ast.File, info *types.Info, rel string) []string {
	var out []string
	var inRoundTrip []bool
	file := filepath.Base(fset.Position(f.Pos()).Filename)
	ast.Inspect(f, func(n ast.Node) bool {
		if fd, ok := n.(*ast.FuncDecl); ok {
			inRoundTrip = append(inRoundTrip[:0], fd.Recv != nil && fd.Name.Name == "RoundTrip")
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		fn, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		obj, ok := info.Uses[fn.Sel].(*types.Func)
		if !ok || obj.Pkg() == nil {
			return true
		}
		callee := obj.FullName()
		switch {
		case obj.Name() == "RoundTrip" && info.Selections[fn] != nil:
			if len(inRoundTrip) > 0 && inRoundTrip[0] {
				return true // a RoundTripper delegating to the next
			}
		case callee == "(*net/http.Client).Do", callee == "(*net/http.Client).Get", callee == "(*net/http.Client).Head",
			callee == "(*net/http.Client).Post", callee == "(*net/http.Client).PostForm",
			callee == "net/http.Get", callee == "net/http.Head", callee == "net/http.Post", callee == "net/http.PostForm":
		default:
			return true
		}
		key := rel + "/" + file + ": " + callee
		if rel == "" {
			key = file + ": " + callee
		}
		if _, ok := allowed[key]; !ok {
			out = append(out, fset.Position(call.Pos()).String()+": "+callee)
		}
		return true
	})
	return out
}

package repotest

import (
	"strings"
	"testing"
)

// fakeRepo is a small repository for the rule tests.
func fakeRepo() *repo {
	r := &repo{files: map[string]bool{}, dirs: map[string]bool{}, top: map[string]bool{},
		sections: map[string]bool{"1": true, "6": true, "6.3": true, "7": true, "7.3": true, "11": true, "11.7": true},
		steps:    map[int]int{}}
	for n := 1; n <= 16; n++ {
		r.steps[n] = 1
	}
	for _, f := range []string{"README.md", "go.mod", "docs/wire.md", "docs/journey.md", "sandbox/doc.go",
		"sandbox/static/iframe.html", "internal/transport/do.go", "cmd/visa-sandbox/README.md"} {
		r.files[f] = true
		parts := strings.Split(f, "/")
		for i := 1; i < len(parts); i++ {
			r.dirs[strings.Join(parts[:i], "/")] = true
		}
		if len(parts) > 1 {
			r.top[parts[0]] = true
		}
	}
	return r
}

func TestRules(t *testing.T) {
	t.Parallel()
	r := fakeRepo()
	for _, tc := range []struct {
		name, file, text string
		want             []string // substrings of the problems, in order; none means clean
	}{
		{"a repository file", "x.go", "see docs/wire.md and sandbox/doc.go", nil},
		{"a section", "x.go", "(docs/wire.md §6.3)", nil},
		{"a list of sections", "x.go", "(docs/wire.md §7.3, §11.7 and §6)", nil},
		{"a range of sections", "x.md", "(§6–§7)", nil},
		{"an unknown section", "x.go", "(docs/wire.md §6.9)", []string{"§6.9 is not a section"}},
		{"one bad section in a list", "x.go", "§7.3, §13", []string{"§13 is not a section"}},
		{"a standard's sections", "x.go", "RFC 7518 §4.7 and §5.3; WebAuthn §5.1.4; ISO 8583 §2", nil},
		{"a comment about a standard", "x.go", "one component (RFC 9421 §2), with the parameters of §2.1 and §2.2.8", nil},
		{"a wire citation beside a standard", "x.go", "RFC 7518 §4.7, as docs/wire.md §6.9 says", []string{"§6.9 is not a section"}},
		{"the wire reference's own sections", "docs/wire.md", "RFC 7518 §4.3 and §5.3; see §9.9", []string{"§9.9 is not a section"}},
		{"a file outside the repository", "x.go", "see " + privateWire + ".md", []string{"private shorthand", privateWire + ".md: no such file"}},
		{"a missing doc", "x.go", "docs/x.md", []string{"docs/x.md: no such file"}},
		{"a missing Go file", "x.go", "foo/bar.go", []string{"foo/bar.go: no such file"}},
		{"a missing bare Go file", "x.go", "see client.go", []string{"client.go: no such file"}},
		{"a missing directory", "x.go", "sandbox/nope and internal/transport", []string{"sandbox/nope: no such directory"}},
		{"a directory that exists", "x.go", "cmd/visa-sandbox serves it", nil},
		{"relative to the file", "sandbox/auth.go", "static/iframe.html", nil},
		{"a markdown link", "docs/wire.md", "[the journey](journey.md) and [root](../README.md)", nil},
		{"a broken markdown link", "docs/wire.md", "[x](gone.md)", []string{"gone.md: no such file"}},
		{"trailing segments", "x.go", "transport/do.go", nil},
		{"a placeholder", "x.go", "sandbox/static/{file}", nil},
		{"a sentence's full stop", "x.go", "It is in go.mod.", nil},
		{"URLs", "x.md", "https://github.com/visa/mcp/blob/main/docs/x.md and http://localhost:8099/docs/y.md", nil},
		{"import paths", "x.go", "github.com/go-jose/go-jose/v4 and golang.org/x/crypto/foo.go", nil},
		{"this module's import path", "x.go", "github.com/vicgo/visa/sandbox", nil},
		{"a bad import path of this module", "x.go", "github.com/vicgo/visa/nope", []string{"import path github.com/vicgo/visa/nope"}},
		{"absolute paths", "x.go", "/var/lib/agent/vicgo.db, /vts/panEnrollments, /sandbox/v1/admin/state", nil},
		{"glued words", "x.go", "/.well-known/jwks.json, alice@example.com, ~/.visa-sandbox/key.pem, *_test.go", nil},
		{"a URL template", "x.go", "{base}/.well-known/jwks.json", nil},
		{"a resource path", "x.go", "vts/provisionedTokens/TOK-0001/deviceBinding", nil},
		{"a quoted value", "x.go", `"/vts/x" gives "vts/x"`, nil},
		{"other programs' files", "x.md", "Claude Desktop's claude_desktop_config.json; S1's mle.ts and vdp_client.py", nil},
		{"media types and words with slashes", "x.go", "application/json, and/or, input/output", nil},
		{"journey steps", "x.go", "journey step 7; journey steps 3, 9, 10 and 12; steps 1 to 9 of the journey", nil},
		{"journey steps wrapped", "x.go", "(journey steps 1 to 16)", nil},
		{"a step out of range", "x.go", "journey step 17", []string{"journey step 17"}},
		{"a step list out of range", "x.go", "steps 15 and 0 of the journey", []string{"journey step 0"}},
		{"steps not of the journey", "x.go", "step 17 of the retry loop", nil},
		{"the private brief", "x.go", "as the " + privateSeed + " says", []string{`private shorthand "the ` + privateSeed + `"`}},
		{"a private step number", "x.go", privateSeed + " step 7 (" + privateSeed + ")", []string{`"` + privateSeed + ` step"`, `"(` + privateSeed + `)"`}},
		{"a tracker's ticket", "x.go", "is issue 16's case; see Issue #7", []string{`"issue 16"`, `"Issue #7"`}},
		{"issues in prose", "x.md", "an open issue on visa/trusted-agent-protocol; issues with keys; the issue's 3 steps", nil},
		{"fuzzing and PRNG seeds", "x.go", "a seed corpus; seeded with Seed; the " + privateSeed + " of the PRNG; the " + privateSeed + " corpus", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := r.check(tc.file, tc.text)
			if len(got) != len(tc.want) {
				t.Fatalf("check(%q) = %q, want %d problems like %q", tc.text, got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestExtract(t *testing.T) {
	t.Parallel()
	goSrc := "package x\n\n// Doc cites docs/a.md and\n// wraps: §6.3.\n//\n//\tcode: docs/skipped.md\nfunc f() {} // trailing docs/b.md\n\n/* block\ndocs/c.md */\n"
	var texts []string
	for _, b := range extract("x.go", []byte(goSrc)) {
		texts = append(texts, b.text)
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"docs/a.md and  wraps: §6.3.", "docs/b.md", "docs/c.md"} {
		if !strings.Contains(joined, want) {
			t.Errorf("go comments %q lack %q", joined, want)
		}
	}
	if strings.Contains(joined, "skipped") {
		t.Errorf("a doc comment's code block was read: %q", joined)
	}

	md := "# T\n\nSee docs/a.md\nand docs/b.md.\n\n```sh\ncat docs/fenced.md\n```\n\n    indented docs/code.md\n\n- item docs/c.md\n"
	texts = nil
	for _, b := range extract("x.md", []byte(md)) {
		texts = append(texts, b.text)
	}
	joined = strings.Join(texts, "|")
	if !strings.Contains(joined, "See docs/a.md and docs/b.md.") || !strings.Contains(joined, "docs/c.md") {
		t.Errorf("markdown prose %q", joined)
	}
	if strings.Contains(joined, "fenced") || strings.Contains(joined, "code.md") {
		t.Errorf("markdown code was read: %q", joined)
	}

	js := "const u = 'https://x/docs/no.md'; // not a line comment\n// a line comment docs/a.md\n/* a block\n docs/b.md */\n"
	texts = nil
	for _, b := range extract("x.js", []byte(js)) {
		texts = append(texts, b.text)
	}
	joined = strings.Join(texts, "|")
	if strings.Contains(joined, "no.md") || !strings.Contains(joined, "docs/a.md") || !strings.Contains(joined, "docs/b.md") {
		t.Errorf("js comments %q", joined)
	}
}

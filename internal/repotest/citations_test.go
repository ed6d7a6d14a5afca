package repotest

// TestCitations reads every comment and every markdown file of the
// repository and fails on a citation that leads nowhere. The rules follow;
// examples are indented as code so that this comment obeys them too.
//
// What is read: the comments of .go files (go/scanner); // and /* */
// comments that start a line in .js, .mjs and .css files; <!-- -->
// comments in .html files; # comments in shell scripts and .conf files;
// -- comments in .sql files; the prose of .md files. Examples are not
// claims, so code is skipped: fenced and indented code blocks in markdown,
// and the lines of a Go comment that start with a tab after "//" (gofmt's
// code blocks in doc comments). Directories named testdata, vendor and
// node_modules, and hidden ones, are not read. The lines of one comment or
// one paragraph are joined before matching, so a citation may wrap.
//
// File paths. A word is a path claim when
//   - it ends in an extension this repository uses for its own files
//     (.go .md .js .mjs .css .html .json .sql .sh .pem .conf .mod .sum)
//     and has a directory, or is a bare .go or .md name: a file claim;
//   - it has no extension, two or more segments, all of them lower-case
//     [a-z0-9_-], the first a top-level directory of the repository, and
//     is not in double quotes (a quoted value is an example): a directory
//     claim;
//   - it is an import path of this module: it must name a directory.
//
// Claims that fail, for example:
//
//	docs/x.md   foo/bar.go   sandbox/nope   github.com/vicgo/visa/nope
//
// Words that are not claims: URLs and anything after a host (a first
// segment with a dot, as in a Go import path); absolute and API paths,
// which start with "/"; words glued to a preceding "/", ".", "@", ":", "~",
// "-" or "*"; URL templates whose first segment is a {placeholder}; name
// suffixes starting with "_"; other repositories' files with extensions
// this repository does not use; paths with a mixed-case segment (signed
// resource paths). For example:
//
//	https://github.com/visa/mcp   github.com/go-jose/go-jose/v4   /var/lib/agent/vicgo.db
//	/vts/panEnrollments   .well-known/jwks.json   {base}/vts-auth/authenticate
//	mle.ts   vts/provisionedTokens/TOK-0001   "vts/x"   mcp.json   *_test.go
//
// A claim resolves when the path exists relative to the repository root,
// relative to the directory of the file that names it (markdown links,
// static/iframe.html from the sandbox package), or as the trailing
// segments of a repository path; a bare name resolves when any repository
// file has that name. {placeholder} and * segments match any segment.
//
// Sections. A section sign followed by a number (alone or in a list,
// "§7.3, §11.7", "§6.4–§6.6") must be a section heading of docs/wire.md
// when the list follows "docs/wire.md", or appears in docs/wire.md or
// docs/journey.md, or appears in a comment or paragraph that names no
// standard. A list right after the name of a standard (RFC n, WebAuthn,
// ISO n) is the standard's, and so is a bare list in a comment that names
// one ("RFC 9421 §2 ... the parameters of §2.1").
//
// Journey steps. "journey step N", "journey steps N, M and K" and "steps N
// to M of the journey" must name steps that docs/journey.md defines; it
// must define each of the 16 steps exactly once.
//
// Private shorthand. The phrases of shorthandRes name a private product
// brief, its step numbers, or a document outside the repository, and must
// not appear; a fuzzer's or a PRNG's seed is fine ("a seed", "a seed
// corpus"). They are assembled from parts (privateSeed, privateWire) so
// that the repository never spells them itself. A bare "issue N" names a
// ticket of the project's private tracker, which readers cannot open: say
// what the case is instead (an issue of another project is named with its
// repository, "visa/x#12", and is not matched).

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/vicgo/visa"

// repo is what the checks resolve against.
type repo struct {
	files    map[string]bool // slash paths relative to the root
	dirs     map[string]bool
	top      map[string]bool // top-level directories
	sections map[string]bool // docs/wire.md section numbers
	steps    map[int]int     // docs/journey.md step number → definitions
}

func TestCitations(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	r := loadRepo(t, root)
	require(t, len(r.sections) > 0, "docs/wire.md has no numbered sections")
	var problems []string
	for f := range r.files {
		if !readable(f) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for _, blk := range extract(f, b) {
			for _, p := range r.check(f, blk.text) {
				problems = append(problems, fmt.Sprintf("%s:%d: %s", f, blk.line, p))
			}
		}
	}
	slices.Sort(problems)
	for _, p := range problems {
		t.Error(p)
	}
}

// TestJourneyStepsDefinedOnce: docs/journey.md numbers each of the 16 steps
// exactly once.
func TestJourneyStepsDefinedOnce(t *testing.T) {
	t.Parallel()
	r := loadRepo(t, repoRoot(t))
	for n := 1; n <= 16; n++ {
		if r.steps[n] != 1 {
			t.Errorf("docs/journey.md defines step %d %d times, want once", n, r.steps[n])
		}
	}
	for n := range r.steps {
		if n < 1 || n > 16 {
			t.Errorf("docs/journey.md defines a step %d", n)
		}
	}
}

// TestWireSectionsKept: the sections code comments have cited since
// docs/wire.md was written keep their numbers.
func TestWireSectionsKept(t *testing.T) {
	t.Parallel()
	r := loadRepo(t, repoRoot(t))
	for _, s := range []string{"1", "2", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "3", "4", "5", "5.1", "5.2",
		"5.3", "5.4", "5.5", "5.6", "5.7", "6", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7", "7", "7.1",
		"7.2", "7.3", "8", "8.1", "8.2", "8.3", "9", "10", "10.1", "10.2", "11", "11.1", "11.2", "11.3",
		"11.4", "11.5", "11.6", "11.7", "11.8", "11.9", "12"} {
		if !r.sections[s] {
			t.Errorf("docs/wire.md has no §%s", s)
		}
	}
}

func require(t *testing.T, ok bool, msg string) {
	t.Helper()
	if !ok {
		t.Fatal(msg)
	}
}

// repoRoot walks up from the test's directory to the go.mod of the module.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module "+modulePath+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of " + modulePath + " above the test's directory")
		}
		dir = parent
	}
}

func loadRepo(t *testing.T, root string) *repo {
	t.Helper()
	r := &repo{files: map[string]bool{}, dirs: map[string]bool{}, top: map[string]bool{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			r.dirs[rel] = true
			if !strings.Contains(rel, "/") {
				r.top[rel] = true
			}
			return nil
		}
		r.files[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wire, err := os.ReadFile(filepath.Join(root, "docs", "wire.md"))
	if err != nil {
		t.Fatal(err)
	}
	r.sections = wireSections(wire)
	journey, err := os.ReadFile(filepath.Join(root, "docs", "journey.md"))
	if err != nil {
		t.Fatal(err)
	}
	r.steps = journeySteps(journey)
	return r
}

var (
	sectionHeadingRe = regexp.MustCompile(`(?m)^#{2,4}\s+(\d+(?:\.\d+)*)\.?\s`)
	stepDefRe        = regexp.MustCompile(`(?m)^\|\s*\*\*(\d+)\.\s`)
)

func wireSections(b []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range sectionHeadingRe.FindAllSubmatch(b, -1) {
		out[string(m[1])] = true
	}
	return out
}

func journeySteps(b []byte) map[int]int {
	out := map[int]int{}
	for _, m := range stepDefRe.FindAllSubmatch(b, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		out[n]++
	}
	return out
}

// readable reports whether f is a file whose comments or prose are read.
func readable(f string) bool {
	for _, seg := range strings.Split(path.Dir(f), "/") {
		if seg == "testdata" || seg == "vendor" || seg == "node_modules" || (strings.HasPrefix(seg, ".") && seg != ".") {
			return false
		}
	}
	switch path.Ext(f) {
	case ".go", ".md", ".js", ".mjs", ".css", ".html", ".sh", ".conf", ".sql":
		return true
	}
	return false
}

// block is a piece of prose: one comment, or one markdown paragraph, with
// its lines joined by spaces.
type block struct {
	line int
	text string
}

// extract returns the prose of a file, without code.
func extract(name string, src []byte) []block {
	switch path.Ext(name) {
	case ".go":
		return goComments(src)
	case ".md":
		return markdownProse(src)
	case ".js", ".mjs", ".css":
		return lineComments(src, "//", "/*", "*/")
	case ".html":
		return lineComments(src, "", "<!--", "-->")
	case ".sh", ".conf":
		return lineComments(src, "#", "", "")
	case ".sql":
		return lineComments(src, "--", "", "")
	}
	return nil
}

func goComments(src []byte) []block {
	fset := token.NewFileSet()
	file := fset.AddFile("x.go", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, scanner.ScanComments)
	var out []block
	var cur *block
	lastLine := -2
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.COMMENT {
			lastLine = -2
			continue
		}
		line := fset.Position(pos).Line
		var text string
		if strings.HasPrefix(lit, "//") {
			body := strings.TrimPrefix(lit, "//")
			if strings.HasPrefix(body, "\t") { // a code block of a doc comment
				lastLine = line
				continue
			}
			text = body
		} else {
			text = strings.Join(strings.Split(strings.TrimSuffix(strings.TrimPrefix(lit, "/*"), "*/"), "\n"), " ")
		}
		if cur != nil && line == lastLine+1 && strings.HasPrefix(lit, "//") {
			cur.text += " " + text
		} else {
			out = append(out, block{line: line})
			cur = &out[len(out)-1]
			cur.text = text
		}
		lastLine = line + strings.Count(lit, "\n")
	}
	return out
}

func markdownProse(src []byte) []block {
	var out []block
	var cur *block
	fence := ""
	prevBlank := true
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			cur = nil
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			cur = nil
			continue
		}
		if trimmed == "" {
			prevBlank, cur = true, nil
			continue
		}
		if prevBlank && (strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")) {
			cur = nil // an indented code block
			continue
		}
		prevBlank = false
		if cur == nil {
			out = append(out, block{line: n, text: line})
			cur = &out[len(out)-1]
		} else {
			cur.text += " " + line
		}
	}
	return out
}

// lineComments returns the comments that start a line: line comments
// introduced by lineTok and block comments between open and close.
func lineComments(src []byte, lineTok, open, close string) []block {
	var out []block
	inBlock := false
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		t := strings.TrimSpace(line)
		switch {
		case inBlock:
			if j := strings.Index(t, close); j >= 0 {
				t, inBlock = t[:j], false
			}
			out = append(out, block{line: n, text: t})
		case open != "" && strings.HasPrefix(t, open):
			t = strings.TrimPrefix(t, open)
			if j := strings.Index(t, close); j >= 0 {
				t = t[:j]
			} else {
				inBlock = true
			}
			out = append(out, block{line: n, text: t})
		case lineTok != "" && strings.HasPrefix(t, lineTok) && !strings.HasPrefix(t, "#!"):
			out = append(out, block{line: n, text: strings.TrimPrefix(t, lineTok)})
		}
	}
	return out
}

var (
	urlRe = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s)\]>"'` + "`" + `]*`)
	// A reference group: an optional standard, then one or more sections.
	sectionRe = regexp.MustCompile(`(?:docs/wire\.md\s+|(RFC\s*\d+|WebAuthn|ISO\s*\d+)\s+)?§\s*\d+(?:\.\d+)*(?:\s*(?:,|and|or|to|–|-)\s*§\s*\d+(?:\.\d+)*)*`)
	// standardRe finds the name of a standard with its own sections.
	standardRe = regexp.MustCompile(`\b(?:RFC\s*\d+|WebAuthn|ISO\s*\d+)\b`)
	numRe      = regexp.MustCompile(`\d+(?:\.\d+)*`)
	stepList   = `(\d+(?:\s*(?:,|and|or|to|–|-)\s*\d+)*)`
	stepRes    = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bjourney(?:'s)?\s+steps?\s+` + stepList),
		regexp.MustCompile(`(?i)\bsteps?\s+` + stepList + `\s+of\s+the\s+journey\b`),
	}
	shorthandRes = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bthe ` + privateSeed + `\b`),
		regexp.MustCompile(`(?i)\b` + privateSeed + ` steps?\b`),
		regexp.MustCompile(`(?i)\(` + privateSeed + `[),]`),
		regexp.MustCompile(`(?i)\b` + privateWire + `\b`),
	}
	// issueRe is a bare ticket number: the word issue (or issues), an
	// optional #, and a number.
	issueRe  = regexp.MustCompile(`(?i)\bissues?\s+#?\d+`)
	lowerSeg = regexp.MustCompile(`^(?:[a-z0-9_-]+|\{[^/]*\}|\*)$`)
)

// The words of the private shorthand, assembled from parts (see the
// package comment's "Private shorthand").
const (
	privateSeed = "se" + "ed"
	privateWire = "visa" + "-wire"
)

// fileExts are the extensions this repository uses for its own files.
var fileExts = map[string]bool{".go": true, ".md": true, ".js": true, ".mjs": true, ".css": true, ".html": true,
	".json": true, ".sql": true, ".sh": true, ".pem": true, ".conf": true, ".mod": true, ".sum": true}

// bareExts are the extensions a bare file name (no directory) is checked
// for: the repository's sources and documents. A bare config.json or
// mcp.json is usually another program's file.
var bareExts = map[string]bool{".go": true, ".md": true}

// check returns the problems of one block of prose found in file f.
func (r *repo) check(f, text string) []string {
	var out []string
	lower := strings.ToLower(text)
	for _, loc := range issueRe.FindAllStringIndex(text, -1) {
		out = append(out, fmt.Sprintf("private shorthand %q: a tracker's ticket readers cannot open; say what the case is", text[loc[0]:loc[1]]))
	}
	for _, re := range shorthandRes {
		if !strings.Contains(lower, privateSeed) && !strings.Contains(lower, privateWire) {
			break
		}
		for _, loc := range re.FindAllStringIndex(text, -1) {
			if rest := strings.ToLower(text[loc[1]:]); strings.HasPrefix(rest, " of ") || strings.HasPrefix(rest, " corpus") {
				continue // a PRNG's or a fuzzer's seed
			}
			out = append(out, fmt.Sprintf("private shorthand %q: cite docs/wire.md or a journey step instead", text[loc[0]:loc[1]]))
		}
	}
	// Sections and steps first, on the text with URLs.
	ownDoc := f == "docs/wire.md" || f == "docs/journey.md"
	var sections [][]string
	namesStandard := false
	if strings.Contains(text, "§") {
		sections = sectionRe.FindAllStringSubmatch(text, -1)
		namesStandard = standardRe.MatchString(text)
	}
	for _, m := range sections {
		if m[1] != "" {
			continue // a standard's own sections
		}
		if !ownDoc && namesStandard && !strings.HasPrefix(m[0], "docs/wire.md") {
			continue // a bare list in a comment about a standard
		}
		for _, n := range numRe.FindAllString(m[0], -1) {
			if !r.sections[n] {
				out = append(out, fmt.Sprintf("§%s is not a section of docs/wire.md", n))
			}
		}
	}
	for _, re := range stepRes {
		if !strings.Contains(lower, "journey") {
			break
		}
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			for _, n := range numRe.FindAllString(m[1], -1) {
				k, _ := strconv.Atoi(n)
				if k < 1 || k > 16 || r.steps[k] == 0 {
					out = append(out, fmt.Sprintf("journey step %s is not a step of docs/journey.md", n))
				}
			}
		}
	}
	// Paths, with URLs blanked out.
	if strings.Contains(text, "://") {
		text = urlRe.ReplaceAllStringFunc(text, func(s string) string { return strings.Repeat(" ", len(s)) })
	}
	for _, loc := range words(text) {
		w := strings.TrimRight(text[loc[0]:loc[1]], ".")
		quoted := loc[0] > 0 && text[loc[0]-1] == '"' && loc[1] < len(text) && text[loc[1]] == '"'
		if p := r.claim(f, w, quoted); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// words returns the spans of the path-like words of text: maximal runs of
// [A-Za-z0-9_.{}*/-] that start with [A-Za-z0-9_{] and are not glued to a
// preceding "@", ":" or "~". A run that starts with "/", ".", "-" or "*"
// is glued by construction (an absolute path, .well-known/..., *_test.go).
// A hand-written scanner: a regular expression made this test slow under
// -race.
func words(text string) [][2]int {
	var out [][2]int
	for i := 0; i < len(text); {
		if !wordByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && wordByte(text[j]) {
			j++
		}
		if startByte(text[i]) && (i == 0 || !strings.ContainsRune("@:~", rune(text[i-1]))) {
			out = append(out, [2]int{i, j})
		}
		i = j
	}
	return out
}

func startByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '{'
}

func wordByte(c byte) bool {
	return startByte(c) || c == '.' || c == '}' || c == '*' || c == '/' || c == '-'
}

// claim classifies word w found in file f and returns a problem if it is
// a path claim that does not resolve.
func (r *repo) claim(f, w string, quoted bool) string {
	segs := strings.Split(strings.TrimSuffix(w, "/"), "/")
	if strings.HasPrefix(segs[0], "{") || strings.HasPrefix(w, "_") {
		return "" // a URL template ({base}/...) or a name suffix (_test.go)
	}
	if strings.Contains(segs[0], ".") && len(segs) > 1 { // a host: URL without scheme, import path
		if rest, ok := strings.CutPrefix(w, modulePath); ok {
			rest = strings.Trim(rest, "/")
			if rest != "" && !r.dirs[rest] && !r.dirs[strings.TrimSuffix(rest, "...")] && !strings.HasSuffix(rest, "...") {
				return fmt.Sprintf("import path %s: no such directory in the module", w)
			}
		}
		return ""
	}
	last := segs[len(segs)-1]
	switch {
	case fileExts[path.Ext(last)] && !strings.HasSuffix(w, "/") && (len(segs) > 1 || bareExts[path.Ext(last)]):
		if !r.resolves(f, segs, r.files) {
			return fmt.Sprintf("%s: no such file in the repository", w)
		}
	case len(segs) >= 2 && r.top[segs[0]] && path.Ext(last) == "" && allLower(segs) && !quoted:
		if !r.resolves(f, segs, r.dirs) && !r.resolves(f, segs, r.files) {
			return fmt.Sprintf("%s: no such directory in the repository", w)
		}
	}
	return ""
}

func allLower(segs []string) bool {
	for _, s := range segs {
		if !lowerSeg.MatchString(s) {
			return false
		}
	}
	return true
}

// resolves reports whether segs names an entry of set: from the root, from
// f's directory, or as the trailing segments of an entry (a bare name: any
// entry with that name).
func (r *repo) resolves(f string, segs []string, set map[string]bool) bool {
	pat := glob(segs)
	rel := path.Clean(path.Join(path.Dir(f), strings.Join(segs, "/")))
	if !strings.Contains(pat, "*") && (set[path.Clean(strings.Join(segs, "/"))] || set[rel]) {
		return true
	}
	n := len(segs)
	for e := range set {
		es := strings.Split(e, "/")
		if len(es) < n {
			continue
		}
		if ok, _ := path.Match(pat, strings.Join(es[len(es)-n:], "/")); ok {
			return true
		}
		if ok, _ := path.Match(glob(strings.Split(rel, "/")), e); ok {
			return true
		}
	}
	return false
}

// glob turns {placeholder} segments into *.
func glob(segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			s = "*"
		}
		out[i] = s
	}
	return strings.Join(out, "/")
}

package sandbox

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"
)

// The browser face of the iFrame: an HTML page with one small script and
// one style sheet, embedded in the binary. The page loads nothing from
// elsewhere, and its Content-Security-Policy says so.

//go:embed static/iframe.html static/iframe.js static/iframe.css
var staticFS embed.FS

var pageTemplate = template.Must(template.ParseFS(staticFS, "static/iframe.html"))

// staticTypes are the files GET /vts-auth/static/{file} serves.
var staticTypes = map[string]string{
	"iframe.js":  "text/javascript; charset=utf-8",
	"iframe.css": "text/css; charset=utf-8",
}

// pageData fills static/iframe.html.
type pageData struct {
	RequestID      string
	AllowedOrigins string // space separated; empty = http://localhost:* and http://127.0.0.1:*
	BrowserHeader  string // the Accept header of the page request (browserData.browserHeader)
}

// cspSourceOK keeps allowlist entries that are plain origins out of harm's
// way in a CSP header and a data attribute.
func cspSourceOK(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n;,'\"")
}

func (a *authState) allowedOriginList() []string {
	var out []string
	for _, o := range a.d.allowedOrigins {
		if cspSourceOK(o) {
			out = append(out, o)
		}
	}
	return out
}

// pageCSP is the page's Content-Security-Policy: own script, style and
// fetches only; framed only by allowlisted origins.
func (a *authState) pageCSP() string {
	ancestors := "http://localhost:* http://127.0.0.1:*"
	if len(a.d.allowedOrigins) > 0 {
		ancestors = strings.Join(a.allowedOriginList(), " ")
		if ancestors == "" {
			ancestors = "'none'"
		}
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
		"base-uri 'none'; form-action 'none'; frame-ancestors " + ancestors
}

func setPageHeaders(h http.Header) {
	h.Set("Permissions-Policy", "publickey-credentials-create=*, publickey-credentials-get=*")
	h.Set("Referrer-Policy", "no-referrer") // the page URL carries the api key
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// servePage renders the HTML page with a fresh requestID.
func (a *authState) servePage(w http.ResponseWriter, r *http.Request, requestID string) {
	var buf bytes.Buffer
	err := pageTemplate.Execute(&buf, pageData{
		RequestID:      requestID,
		AllowedOrigins: strings.Join(a.allowedOriginList(), " "),
		BrowserHeader:  r.Header.Get("Accept"),
	})
	if err != nil {
		http.Error(w, "sandbox: render iFrame page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	setPageHeaders(h)
	h.Set("Content-Security-Policy", a.pageCSP())
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// handleStatic serves the page's script and style.
func (a *authState) handleStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	ctype, ok := staticTypes[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	setPageHeaders(h)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", ctype)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

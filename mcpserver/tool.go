package mcpserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/check"
)

// Limits on tool arguments. A longer string or a longer list is refused
// with an ArgumentError naming it, before anything is sent or stored.
const (
	// MaxArgumentBytes bounds the JSON arguments of one tool call.
	MaxArgumentBytes = 64 << 10
	// MaxStringBytes bounds every string argument; identifiers have
	// tighter bounds (MaxIDBytes).
	MaxStringBytes = 2048
	// MaxIDBytes bounds identifiers (user, token, instruction, flow ids).
	MaxIDBytes = 128
	// MaxListItems bounds every list argument.
	MaxListItems = 16
)

// ErrInvalidArgument is matched (errors.Is) by every ArgumentError.
var ErrInvalidArgument = errors.New("mcpserver: invalid argument")

// ArgumentError is a tool argument refused before anything was sent or
// stored. Field is the argument's JSON path ("card.pan", "amount",
// "transactions[0].currency"); the value itself is never quoted.
type ArgumentError struct {
	Field  string
	Reason string
}

// Error returns e.g. "invalid argument card.pan: must be a valid card number".
func (e *ArgumentError) Error() string { return "invalid argument " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalidArgument) and errors.Is(err,
// visa.ErrInvalidInput) true.
func (e *ArgumentError) Is(target error) bool {
	return target == ErrInvalidArgument || target == visa.ErrInvalidInput
}

// ArgumentErrors is every argument a tool call refused, each named; a tool
// reports all of them at once.
type ArgumentErrors []*ArgumentError

// Error returns one line per argument.
func (e ArgumentErrors) Error() string {
	lines := make([]string, len(e))
	for i, a := range e {
		lines[i] = a.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each ArgumentError.
func (e ArgumentErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, a := range e {
		out[i] = a
	}
	return out
}

func argErr(field, reason string) error { return &ArgumentError{Field: field, Reason: reason} }

// toolDef is one tool before registration.
type toolDef struct {
	tool    *mcp.Tool
	handler mcp.ToolHandler
}

// caller is who calls a tool: the authenticated subject (mapped to a store
// user) or, without authentication, the single local user.
type caller struct {
	// user is the store user id of an authenticated caller.
	user string
	// authed says the caller was authenticated (a bearer token).
	authed bool
	// scopes are the token's scopes.
	scopes []string
	// session is the MCP session of the call, for elicitation.
	session *mcp.ServerSession
	// caps are the client's declared capabilities (elicitation modes).
	caps *mcp.ClientCapabilities
	// roundTrips says the client speaks protocol 2026-07-28 or later: the
	// server asks the user by answering "input required" (multi round-trip
	// requests), never by an elicitation request of its own.
	roundTrips bool
	// responses and state are the answers and the RequestState of a
	// multi round-trip call's retry.
	responses mcp.InputResponseMap
	state     string
}

type callerKey struct{}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// has reports whether the caller's token holds scope.
func (c caller) has(scope string) bool {
	for _, s := range c.scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// roundTripProtocol is the first MCP protocol version in which a server
// asks the client for input by answering "input required" rather than by
// sending elicitation/create during a tool call.
const roundTripProtocol = "2026-07-28"

// errUnauthenticated is the answer to a tool call without an identity on a
// server that requires one.
var errUnauthenticated = errors.New("this server requires a signed-in caller: send a bearer token")

// identify is the caller of req.
func (s *Server) identify(req *mcp.CallToolRequest) (caller, error) {
	var c caller
	if req != nil {
		c.session = req.Session
		c.caps = req.ClientCapabilities()
		c.roundTrips = req.ProtocolVersion() >= roundTripProtocol
		if req.Params != nil {
			c.responses, c.state = req.Params.InputResponses, req.Params.RequestState
		}
		if req.Extra != nil && req.Extra.TokenInfo != nil && req.Extra.TokenInfo.UserID != "" {
			c.authed, c.user, c.scopes = true, storeUserID(req.Extra.TokenInfo.UserID), req.Extra.TokenInfo.Scopes
		}
	}
	if s.requireAuth && !c.authed {
		return c, errUnauthenticated
	}
	return c, nil
}

// storeUserID maps an authenticated subject to a store user id: itself when
// it is a short visible-ASCII id, else a digest of it.
func storeUserID(sub string) string {
	if check.ID(sub, 64) == "" {
		return sub
	}
	sum := sha256.Sum256([]byte("vicgo visa-mcp subject\x00" + sub))
	return "sub-" + hex.EncodeToString(sum[:20])
}

// userID resolves the user a call acts for: the authenticated caller (an
// argument naming another user is refused), else the argument, else
// DefaultUserID.
func (s *Server) userID(ctx context.Context, field, given string, a *args) string {
	c := callerFrom(ctx)
	if c.authed {
		if given != "" && given != c.user {
			a.add(field, "is set by your sign-in; leave it out")
		}
		return c.user
	}
	if given == "" {
		return DefaultUserID
	}
	a.id(field, given, 64)
	return given
}

// owner is the user a journey, handle or record must belong to for this
// caller: the authenticated user, or "" (anyone) without authentication.
func owner(ctx context.Context) string {
	if c := callerFrom(ctx); c.authed {
		return c.user
	}
	return ""
}

// tool builds a tool from its spec: input and output schemas inferred from
// In and Out, then shaped for a model (spec.shape). The SDK's own typed
// AddTool is not used on purpose: its schema validator quotes the
// offending value in its messages ("pattern: \"4111...\" does not match"),
// which would put card data into tool results. This handler decodes
// strictly, names every bad argument and never its value, and returns only
// the Out struct, whose fields are chosen to be secret-free.
func tool[In, Out any](h func(*Server, context.Context, *In) (*Out, error)) func(*Server, toolSpec) toolDef {
	return func(s *Server, spec toolSpec) toolDef {
		in, err := jsonschema.For[In](nil)
		if err != nil {
			panic(fmt.Sprintf("mcpserver: tool %s: input schema: %v", spec.name, err))
		}
		out, err := jsonschema.For[Out](nil)
		if err != nil {
			panic(fmt.Sprintf("mcpserver: tool %s: output schema: %v", spec.name, err))
		}
		shapeSchema(in)
		shapeSchema(out)
		for path, vals := range spec.enums {
			setEnum(in, path, vals)
		}
		for path, vals := range spec.outEnums {
			setEnum(out, path, vals)
		}
		if s.requireAuth {
			for _, f := range spec.userArgs {
				dropProperty(in, f)
			}
		}
		if !s.cardArgs {
			for _, f := range spec.cardArgs {
				dropProperty(in, f)
			}
		}
		yes, no := true, false
		ann := &mcp.ToolAnnotations{Title: spec.title, ReadOnlyHint: spec.readOnly, IdempotentHint: spec.idempotent,
			DestructiveHint: &no, OpenWorldHint: &yes}
		if spec.destructive {
			ann.DestructiveHint = &yes
		}
		if spec.readOnly {
			ann.DestructiveHint = nil
		}
		if spec.local {
			ann.OpenWorldHint = &no
		}
		description := spec.description
		if spec.describe != nil {
			description = spec.describe(s)
		}
		t := &mcp.Tool{Name: spec.name, Title: spec.title, Description: description, InputSchema: in, OutputSchema: out, Annotations: ann}
		name := spec.name
		handler := func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			start := time.Now()
			res, outcome := s.call(ctx, req, func(ctx context.Context, raw json.RawMessage) (any, error) {
				c, err := s.identify(req)
				if err != nil {
					return nil, err
				}
				ctx = context.WithValue(ctx, callerKey{}, c)
				var v In
				if err := decodeArgs(raw, &v); err != nil {
					return nil, err
				}
				var a args
				checkSizes(reflect.ValueOf(&v).Elem(), "", &a)
				if !a.ok() {
					return nil, a.err()
				}
				return h(s, ctx, &v)
			})
			level := slog.LevelInfo
			if res.IsError {
				level = slog.LevelWarn
			}
			s.logger.LogAttrs(ctx, level, "mcp tool call", slog.String("tool", name),
				slog.Duration("duration", time.Since(start)), slog.String("outcome", outcome))
			return res, nil
		}
		return toolDef{tool: t, handler: handler}
	}
}

// shapeSchema makes an inferred schema plain for a model: an optional
// member is simply optional, never a ["null", "object"] union.
func shapeSchema(sc *jsonschema.Schema) {
	if sc == nil {
		return
	}
	if len(sc.Types) == 2 && (sc.Types[0] == "null" || sc.Types[1] == "null") {
		t := sc.Types[0]
		if t == "null" {
			t = sc.Types[1]
		}
		sc.Type, sc.Types = t, nil
	}
	for _, p := range sc.Properties {
		shapeSchema(p)
	}
	shapeSchema(sc.Items)
}

// at finds the schema at a dotted path; "x[]" steps into x's items.
func at(sc *jsonschema.Schema, path string) *jsonschema.Schema {
	for _, part := range strings.Split(path, ".") {
		items := strings.HasSuffix(part, "[]")
		part = strings.TrimSuffix(part, "[]")
		if sc == nil || sc.Properties[part] == nil {
			return nil
		}
		sc = sc.Properties[part]
		if items {
			sc = sc.Items
		}
	}
	return sc
}

func setEnum(sc *jsonschema.Schema, path string, vals []any) {
	p := at(sc, path)
	if p == nil {
		panic("mcpserver: no schema property " + path)
	}
	p.Enum = vals
}

// dropProperty removes an argument from a schema (a dotted path).
func dropProperty(sc *jsonschema.Schema, path string) {
	parent, name := sc, path
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		parent, name = at(sc, path[:i]), path[i+1:]
	}
	if parent == nil {
		return
	}
	delete(parent.Properties, name)
	parent.Required = slices.DeleteFunc(parent.Required, func(r string) bool { return r == name })
	parent.PropertyOrder = slices.DeleteFunc(parent.PropertyOrder, func(r string) bool { return r == name })
}

// call runs one tool body and turns its answer into a CallToolResult: the
// output as structured content and as JSON text, or an error result with a
// secret-free message. outcome is a short description for the log.
func (s *Server) call(ctx context.Context, req *mcp.CallToolRequest, body func(context.Context, json.RawMessage) (any, error)) (*mcp.CallToolResult, string) {
	var raw json.RawMessage
	if req != nil && req.Params != nil {
		raw = req.Params.Arguments
	}
	out, err := body(ctx, raw)
	var ir *inputRequired
	if errors.As(err, &ir) {
		return &mcp.CallToolResult{InputRequests: ir.requests, RequestState: ir.state}, "input required"
	}
	if err != nil {
		msg := errorText(err)
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, "error: " + firstLine(msg)
	}
	data, err := json.Marshal(out)
	if err != nil {
		msg := "internal error: the result could not be encoded"
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, msg
	}
	outcome := "ok"
	var st struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(data, &st) == nil && st.Status != "" {
		outcome = st.Status
	}
	return &mcp.CallToolResult{StructuredContent: json.RawMessage(data), Content: []mcp.Content{&mcp.TextContent{Text: string(data)}}}, outcome
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// errorText is the message of a failed tool call: every bad argument
// named, or a plain sentence with a stable code; never a Go error chain.
// Any long digit run is masked as a last line of defence.
func errorText(err error) string {
	var aes ArgumentErrors
	if errors.As(err, &aes) {
		return scrub(aes.Error())
	}
	var ae *ArgumentError
	if errors.As(err, &ae) {
		return scrub(ae.Error())
	}
	var a args
	if a.library(err, llFields) {
		return scrub(a.errs.Error())
	}
	if errors.Is(err, errUnauthenticated) || errors.Is(err, ErrClosed) {
		return err.Error()
	}
	code, sentence := plain(err)
	return scrub(sentence + " (" + code + ")")
}

// scrub masks every run of 12 or more digits (a PAN or token number would
// be one) but its last four.
func scrub(s string) string {
	var b strings.Builder
	run := 0
	flush := func(end int) {
		if run >= 12 {
			b.WriteString("****")
			b.WriteString(s[end-4 : end])
		} else {
			b.WriteString(s[end-run : end])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}

// decodeArgs decodes the arguments strictly into v: unknown fields, wrong
// types and trailing data are refused, naming the field, never the value.
func decodeArgs(raw json.RawMessage, v any) error {
	if len(raw) > MaxArgumentBytes {
		return argErr("arguments", fmt.Sprintf("are larger than %d bytes", MaxArgumentBytes))
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return argErr("arguments", "must be one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "arguments"
		}
		return argErr(field, "must be "+jsonKind(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return argErr("arguments", "are not valid JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if len(name) > 64 || scrub(name) != name {
			name = "(unnamed)"
		}
		return argErr(name, "is not an argument of this tool")
	}
	return argErr("arguments", "are not a JSON object of the expected shape")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

// checkSizes walks a decoded input and records strings longer than
// MaxStringBytes and lists longer than MaxListItems, naming the field by
// its JSON path.
func checkSizes(v reflect.Value, path string, a *args) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			checkSizes(v.Elem(), path, a)
		}
	case reflect.String:
		if v.Len() > MaxStringBytes {
			a.add(path, fmt.Sprintf("must be at most %d bytes", MaxStringBytes))
		}
	case reflect.Slice:
		if v.Len() > MaxListItems {
			a.add(path, fmt.Sprintf("must have at most %d items", MaxListItems))
			return
		}
		for i := range v.Len() {
			checkSizes(v.Index(i), fmt.Sprintf("%s[%d]", path, i), a)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			checkSizes(v.Field(i), name, a)
		}
	}
}

package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vicgo/visa"
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

func argErr(field, reason string) error { return &ArgumentError{Field: field, Reason: reason} }

// validator is implemented by inputs that check themselves after decoding.
type validator interface{ validate() error }

// toolDef is one tool before registration.
type toolDef struct {
	tool    *mcp.Tool
	handler mcp.ToolHandler
}

// newTool builds a tool whose input and output schemas are inferred from In
// and Out. The SDK's own typed AddTool is not used on purpose: its schema
// validator quotes the offending value in its messages ("pattern: \"4111...\"
// does not match"), which would put card data into tool results. This
// handler decodes strictly, names the field of a bad argument and never its
// value, and returns only the Out struct, whose fields are chosen to be
// secret-free.
func newTool[In, Out any](s *Server, name, description string, h func(context.Context, *In) (*Out, error)) toolDef {
	in, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: tool %s: input schema: %v", name, err))
	}
	out, err := jsonschema.For[Out](nil)
	if err != nil {
		panic(fmt.Sprintf("mcpserver: tool %s: output schema: %v", name, err))
	}
	t := &mcp.Tool{Name: name, Description: description, InputSchema: in, OutputSchema: out}
	handler := func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		start := time.Now()
		res, outcome := s.call(ctx, req, func(ctx context.Context, raw json.RawMessage) (any, error) {
			var v In
			if err := decodeArgs(raw, &v); err != nil {
				return nil, err
			}
			if err := checkSizes(reflect.ValueOf(&v).Elem(), ""); err != nil {
				return nil, err
			}
			if vv, ok := any(&v).(validator); ok {
				if err := vv.validate(); err != nil {
					return nil, err
				}
			}
			o, err := h(ctx, &v)
			if err != nil {
				return nil, err
			}
			return o, nil
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

// call runs one tool body and turns its answer into a CallToolResult: the
// output as structured content and as JSON text, or an error result with a
// secret-free message. outcome is a short description for the log.
func (s *Server) call(ctx context.Context, req *mcp.CallToolRequest, body func(context.Context, json.RawMessage) (any, error)) (*mcp.CallToolResult, string) {
	var raw json.RawMessage
	if req != nil && req.Params != nil {
		raw = req.Params.Arguments
	}
	out, err := body(ctx, raw)
	if err != nil {
		msg := errorText(err)
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: msg}}}, "error: " + msg
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

// errorText is the message of a failed tool call: the error's own text,
// which the SDK keeps secret-free, with any long digit run masked as a
// last line of defence.
func errorText(err error) string {
	var ae *ArgumentError
	if errors.As(err, &ae) {
		return scrub(ae.Error())
	}
	var ie *visa.InputError
	if errors.As(err, &ie) {
		return scrub("invalid argument " + ie.Field + ": " + ie.Reason)
	}
	return scrub(err.Error())
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

// checkSizes walks a decoded input and refuses strings longer than
// MaxStringBytes and lists longer than MaxListItems, naming the field by
// its JSON path.
func checkSizes(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return checkSizes(v.Elem(), path)
	case reflect.String:
		if v.Len() > MaxStringBytes {
			return argErr(path, fmt.Sprintf("must be at most %d bytes", MaxStringBytes))
		}
	case reflect.Slice:
		if v.Len() > MaxListItems {
			return argErr(path, fmt.Sprintf("must have at most %d items", MaxListItems))
		}
		for i := range v.Len() {
			if err := checkSizes(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
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
			if err := checkSizes(v.Field(i), name); err != nil {
				return err
			}
		}
	}
	return nil
}

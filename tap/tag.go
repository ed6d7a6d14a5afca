package tap

import "context"

// Tag is the tag parameter of a signature: what the agent is doing.
type Tag string

// The tags of the Trusted Agent Protocol and of Web Bot Auth.
const (
	// TagBrowser marks an agent browsing a merchant (TAP).
	TagBrowser Tag = "agent-browser-auth"
	// TagPayer marks an agent at checkout, paying (TAP).
	TagPayer Tag = "agent-payer-auth"
	// TagWebBotAuth marks a Web Bot Auth signature: keyid is the key's JWK
	// thumbprint and Signature-Agent names the agent's key directory.
	TagWebBotAuth Tag = "web-bot-auth"
)

// Valid reports whether t is one of the three tags.
func (t Tag) Valid() bool { return t == TagBrowser || t == TagPayer || t == TagWebBotAuth }

type tagKey struct{}

// WithTag returns a context whose requests a Signer's Transport signs with
// tag t: TagBrowser while browsing, TagPayer for the checkout call.
func WithTag(ctx context.Context, t Tag) context.Context {
	return context.WithValue(ctx, tagKey{}, t)
}

// TagFrom returns the tag WithTag put in ctx.
func TagFrom(ctx context.Context) (Tag, bool) {
	t, ok := ctx.Value(tagKey{}).(Tag)
	return t, ok
}

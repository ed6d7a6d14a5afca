package vts

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/vicgo/visa"
	"github.com/vicgo/visa/internal/transport"
)

// ContentTypeCardArt is the contentType of a card's art in CardMetaData.
const ContentTypeCardArt = "digitalCardArt"

// GetContentRequest names a piece of card content by the GUID of a
// CardData entry.
type GetContentRequest struct {
	GUID string
}

// Content is one rendition of a piece of card content.
type Content struct {
	// MimeType is e.g. "image/png".
	MimeType string `json:"mimeType"`
	// EncodedData is the content in base64; Data decodes it.
	EncodedData string `json:"encodedData"`
}

// Data decodes EncodedData (standard or URL base64, padded or not).
func (c Content) Data() ([]byte, error) {
	s := strings.TrimRight(strings.TrimSpace(c.EncodedData), "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("vts: card content: %w: encodedData is not base64", visa.ErrMalformedResponse)
	}
	return b, nil
}

// GetContentResponse holds the renditions of the content.
type GetContentResponse struct {
	visa.ResponseMeta `json:"-"`
	Content           []Content `json:"content"`
}

// CardArt returns the CardData entries of m that are card art.
func (m CardMetaData) CardArt() []CardData {
	var out []CardData
	for _, d := range m.CardData {
		if d.ContentType == ContentTypeCardArt {
			out = append(out, d)
		}
	}
	return out
}

// GetContent calls GET /vts/cps/getContent/{guid}: the card art (or other
// content) named in CardMetaData. A read: retried on 429, 5xx and
// network errors.
//
// Errors: visa.ErrNotFound (unknown GUID).
func (c *Client) GetContent(ctx context.Context, req GetContentRequest, opts ...CallOption) (*GetContentResponse, error) {
	if err := required("GUID", req.GUID); err != nil {
		return nil, fail("vts.GetContent", err)
	}
	out := new(GetContentResponse)
	res, err := c.do(ctx, &transport.Request{Op: "vts.GetContent", Method: http.MethodGet, Path: "/vts/cps/getContent/{guid}", PathParams: []string{req.GUID}}, out, collect(opts))
	return finish(out, &out.ResponseMeta, res, err, len(out.Content) > 0)
}

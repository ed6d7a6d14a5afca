package authframe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vicgo/visa/authframe"
)

// benchPage plays the page for a benchmark: it answers every command the
// way the iFrame would, until the poll fails.
func benchPage(b *testing.B, url, ch string) {
	client := &http.Client{}
	post := func(seq uint64, msg string) {
		req, _ := http.NewRequest(http.MethodPost, url+"/event", bytes.NewReader(fmt.Appendf(nil, `{"seq":%d,"message":%s}`, seq, msg)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-VPP-Channel", ch)
		res, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	complete := `{"type":"AUTH_COMPLETE","result":"COMPLETE","requestID":"REQ-1","assuranceData":{"fidoBlob":"` + testBlob + `","rpID":"localhost","identifier":"ID-1"}}`
	for {
		req, _ := http.NewRequest(http.MethodGet, url+"/poll", nil)
		req.Header.Set("X-VPP-Channel", ch)
		res, err := client.Do(req)
		if err != nil {
			return
		}
		var c command
		ok := res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(&c) == nil
		res.Body.Close()
		if res.StatusCode == http.StatusForbidden {
			return
		}
		if !ok {
			continue
		}
		switch c.Message["type"] {
		case authframe.TypeCreateAuthSession:
			post(c.Seq, `{"type":"AUTH_READY","requestID":"REQ-1","version":"1"}`)
			post(c.Seq, sessionCreated)
		case authframe.TypeAuthenticate:
			post(c.Seq, complete)
		case authframe.TypeCloseAuthSession:
			post(c.Seq, `{"type":"AUTH_SESSION_CLOSED","requestID":"REQ-1"}`)
		}
	}
}

// BenchmarkBridgeSession measures the Bridge's own cost for one session
// (Open, Authenticate, Close: three commands, four events) with the page
// on loopback HTTP; the browser and the iFrame are not part of it.
func BenchmarkBridgeSession(b *testing.B) {
	bridge, err := authframe.NewBridge(testConfig())
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(bridge)
	defer srv.Close()
	defer bridge.Shutdown()
	ch, err := bridge.NewChannel()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); benchPage(b, srv.URL, ch) }()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := bridge.Open(ctx, authframe.OpenRequest{ClientDeviceID: deviceOne, Channel: ch})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bridge.Authenticate(ctx, s, testContext); err != nil {
			b.Fatal(err)
		}
		if err := bridge.Close(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	bridge.CloseChannel(ch)
	<-done
}

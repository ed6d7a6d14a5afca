package retry_test

import (
	"fmt"

	"github.com/vicgo/visa/internal/retry"
)

func ExampleClassify() {
	// A purchase instruction (a POST) answered 429: throttled, retried.
	fmt.Println(retry.Classify(429, retry.Safe("POST"), false, nil))
	// The same POST answered 503: it may have been processed, not retried.
	fmt.Println(retry.Classify(503, retry.Safe("POST"), false, nil))
	// A confirmation (a POST Visa deduplicates) answered 503: retried.
	fmt.Println(retry.Classify(503, true, false, nil))
	// Output:
	// {true throttled}
	// {false write may have reached the server}
	// {true server error}
}

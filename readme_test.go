package visa_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vicgo/visa"
)

// TestReadmeDocumentsEveryVariable keeps the README's configuration table
// in step with ConfigFromEnv.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range visa.EnvVars {
		if !strings.Contains(readme, "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
	for _, cmd := range []string{"go run ./examples/quickstart", "go test ./..."} {
		if !strings.Contains(readme, cmd) {
			t.Errorf("README.md does not show %q", cmd)
		}
	}
}

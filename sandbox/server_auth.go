package sandbox

// defaultAuthority builds the Auth iFrame half (auth*.go).
func defaultAuthority(d authDeps) authority { return newAuthority(d) }

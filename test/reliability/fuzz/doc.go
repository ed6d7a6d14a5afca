// Package fuzz holds the reliability suite's end-to-end fuzz targets: they
// feed arbitrary answers (any status, any body, MLE-encrypted or not)
// through the real VTS, VIC, Auth iFrame and merchant clients, and
// arbitrary caller input through the root constructors. Whatever comes
// back, a call returns a result or a typed error (reliability.ErrorClass),
// never panics, never hangs and never puts a secret in its error. They
// live apart from package reliability so that fuzzing does not build the
// SQLite driver with coverage instrumentation.
package fuzz

// Package repotest holds tests that check the repository as a whole rather
// than one package: today, that every file path, docs/wire.md section and
// journey step named in a comment or a markdown file exists, so that the
// documentation never points outside the repository. It has no API.
package repotest

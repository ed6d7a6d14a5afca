package visa

// Version is the version of this module, the one place it is written: the
// transport's User-Agent, the MCP server and the commands report it. It
// follows semantic versioning; see the compatibility policy in README.md.
const Version = "0.2.0"

// Package check is the SDK's one validation vocabulary: the rules for the
// values a journey sends to Visa, stores, or puts into a URL path (emails,
// ids, country and language codes, merchant category codes, URLs, free
// text) and the screen that keeps card numbers out of every field that is
// not the card field.
//
// Every function returns the reason a value is refused, as a short phrase
// ("must be an email address"), or "" when it is acceptable. Callers wrap
// the reason in their own typed error (visa.NewInputError in the service
// packages and the agent, store.ValidationError in the store), so a value
// is judged by the same rule, with the same words, wherever it enters. No
// reason ever quotes the value: a field meant for an id may have been
// handed a secret by mistake.
package check

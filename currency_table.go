package visa

// currencies is the ISO 4217 table of active currencies, keyed by alpha code.
var currencies = map[string]Currency{
	"USD": {"USD", "840", 2}, "EUR": {"EUR", "978", 2}, "GBP": {"GBP", "826", 2},
	"JPY": {"JPY", "392", 0}, "CAD": {"CAD", "124", 2}, "AUD": {"AUD", "036", 2},
	"CHF": {"CHF", "756", 2}, "KWD": {"KWD", "414", 3}, "INR": {"INR", "356", 2},
	"SGD": {"SGD", "702", 2}, "BRL": {"BRL", "986", 2}, "MXN": {"MXN", "484", 2},
}

// currencyByNumeric indexes currencies by numeric code.
var currencyByNumeric = func() map[string]Currency {
	m := make(map[string]Currency, len(currencies))
	for _, c := range currencies {
		m[c.Numeric] = c
	}
	return m
}()

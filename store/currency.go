package store

import "strings"

// currencies are the ISO 4217 alphabetic codes a Transaction may carry: the
// active list (2025, including VED, SLE, ZWG and XCG), a few recently
// withdrawn codes still seen in old records (ANG, CUC, HRK, SLL, ZWL), and the
// fund codes. Precious metals, bond units, XDR, XSU, XUA, XTS (testing) and
// XXX (no currency) are not money a purchase is made in, so they are refused.
var currencies = func() map[string]struct{} {
	const list = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV
BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD
IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS
TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF
XPF YER ZAR ZMW ZWG ZWL`
	m := map[string]struct{}{}
	for _, c := range strings.Fields(list) {
		m[c] = struct{}{}
	}
	return m
}()

// KnownCurrency reports whether code is an ISO 4217 currency a Transaction
// may carry ("USD"; upper case only).
func KnownCurrency(code string) bool {
	_, ok := currencies[code]
	return ok
}

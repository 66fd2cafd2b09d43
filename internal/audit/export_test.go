package audit

// FactsSlowForTest is FactsOf by a full decode.
var FactsSlowForTest = factsSlow

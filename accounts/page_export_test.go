package accounts

// PageSQL and PageArgs are the accounts page's statement and its
// arguments, for its plan.
var (
	PageSQL  = pageSQL
	PageArgs = pageArgs
)

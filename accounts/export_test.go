package accounts

// SearchSQL is the search's statement, for its plan.
const SearchSQL = searchSQL

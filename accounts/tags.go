package accounts

// Tag names: what marks an identity as synthetic wherever it appears (in
// analytics, in apps). Package tagging publishes them; apps receive them
// when an account is provisioned.
const (
	TagSynthetic   = "is_synthetic"
	TagRole        = "synthetic_role"
	TagEnvironment = "synthetic_environment"
	TagAccountID   = "understudy_account_id"
)

// tagsOf returns the tags of account a: is_synthetic=true, its role, its
// environment and its id.
func tagsOf(a *Account) map[string]string {
	return map[string]string{TagSynthetic: "true", TagRole: a.Role, TagEnvironment: a.Environment, TagAccountID: a.ID}
}

environment "staging" {
  email_domains = ["qa.example.test"]
}

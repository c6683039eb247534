environment "production" {
  email_domains = ["qa.example.test"]
}

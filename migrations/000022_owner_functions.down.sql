DROP VIEW quarantining_violations;
DROP VIEW account_directory;
DROP VIEW role_directory;
DROP VIEW environment_directory;

DROP TABLE flows;
DROP TABLE deployments;

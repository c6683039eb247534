DROP VIEW open_leases;

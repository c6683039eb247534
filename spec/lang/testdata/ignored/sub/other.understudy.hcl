role "x" { bad

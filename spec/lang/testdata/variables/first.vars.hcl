pool        = 4
description = "from the first file"
attrs       = { plan = "team" }

go test fuzz v1
string("(*\n  Authors: Wenda Li\n*)\n\ntheory imo_1959_p1\n  imports Complex_Main\nbegin\n\ntheorem imo_1959_p1:\n  fixes n :: nat\n  shows \"gcd (21*n + 4) (14*n + 3) = 1\"\nsorry\n\nend\n")

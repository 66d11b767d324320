go test fuzz v1
string("(*\n  Authors: Wenda Li\n*)\n\ntheory mathd_numbertheory_5 imports Complex_Main\nbegin\n\ntheorem mathd_numbertheory_5:\n  fixes n :: nat\n  assumes \"10 \\<le> n\"\n    and \"\\<exists> x. x^2 = n\"\n    and \"\\<exists> t. t^3 = n\" \n  shows \"64 \\<le> n\"\n  sorry\n\nend\n\n\n    ")

go test fuzz v1
string("(*\n  Authors: Albert Qiaochu Jiang\n*)\n\ntheory amc12a_2019_p21 imports\nComplex_Main\nbegin\ntheorem amc12a_2019_p21:\n  fixes z::complex\n  assumes h0: \"z = (Complex (1/sqrt 2) (1/sqrt 2))\"\n  shows \"(\\<Sum>k::nat=1..12. (z^(k^2))) * (\\<Sum> k::nat=1..12. 1/(z^(k^2))) =36\"\n  sorry\n\nend")

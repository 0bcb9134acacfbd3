$title A small infeasible LP
* Supply 900 cases against a demand of 1000: no solver can meet it.
* GAMS still ends with return code 0; the listing says MODEL STATUS 4 Infeasible.

Set i 'plants' / p1*p3 /, j 'markets' / m1*m4 /;
Parameter a(i) 'supply' / p1 300, p2 300, p3 300 /;
Parameter b(j) 'demand' / m1 250, m2 250, m3 250, m4 250 /;
Parameter c(i,j) 'unit cost';
c(i,j) = 1 + mod(ord(i) * 7 + ord(j) * 3, 5);

Positive Variable x(i,j);
Free Variable z;
Equation supply(i), demand(j), obj;
supply(i).. sum(j, x(i,j)) =l= a(i);
demand(j).. sum(i, x(i,j)) =g= b(j);
obj..       z =e= sum((i,j), c(i,j) * x(i,j));

Model infeasible / all /;
Solve infeasible using LP minimizing z;

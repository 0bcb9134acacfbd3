$title An LP just over the demo licence limit (2000 rows, 2000 columns)
* 2,101 rows and 2,101 columns: a demo or community licence refuses to solve
* it and GAMS stops with return code 7 (licensing error).  The model itself is
* trivial and feasible (optimum 2100*2101/2 * 0.001 = 2206.05).

Set k / k1*k2100 /;

Positive Variable x(k);
Free Variable z;

Equation floor(k) 'x(k) at least ord(k)/1000'
         obj;

floor(k).. x(k) =g= ord(k) / 1000;
obj..      z =e= sum(k, x(k));

Model licence_limit / all /;
Solve licence_limit using LP minimizing z;

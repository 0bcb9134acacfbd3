$title Market split (Cornuejols and Dawande 1998): a small MIP that keeps CPLEX busy
*-----------------------------------------------------------------------------*
* m rows, n = 10(m-1) binaries, coefficients uniform integers 0..99, right-hand
* sides floor(row sum / 2), fixed seed.  Minimising the total slack: the LP bound
* is 0, an exact split almost surely does not exist, and branch and bound
* cannot prove it quickly, so with threads 1 CPLEX works for many minutes and
* keeps printing node-log lines.  The cancellation tests start it and kill it.
* Plain on purpose: times-doctor passes the solver and optfile=1 itself.
*-----------------------------------------------------------------------------*
$if not set M $set M 5
$eval N 10*(%M%-1)

Set i 'markets (rows)'     / r1*r%M% /;
Set j 'products (columns)' / p1*p%N% /;

execseed = 19980601;

Parameter a(i,j) 'share of product j in market i'
          d(i)   'target demand of market i';
a(i,j) = uniformInt(0, 99);
d(i)   = floor(sum(j, a(i,j)) / 2);

Binary   Variable x(j)     'product j goes to division 1';
Positive Variable sp(i), sm(i) 'slack above and below the target';
Free     Variable z        'total slack';

Equation split(i) 'division 1 gets exactly half of every market, up to slack'
         obj      'objective';

split(i).. sum(j, a(i,j) * x(j)) + sp(i) - sm(i) =e= d(i);
obj..      z =e= sum(i, sp(i) + sm(i));

Model marketsplit / all /;

* A cap so that a forgotten run cannot go on for ever (seconds).
option optcr = 0, reslim = 1200;

Solve marketsplit using MIP minimizing z;

display x.l, z.l;

*=============================================================================*
* initsys.mod: system-wide declarations of the fake TIMES source used by the
* times-doctor tests (a stand-in for the real TIMES initsys.mod).
* Found via idir: drivers say "$include initsys.mod", never a path.
*=============================================================================*
$setglobal TIMES_DEMO_VERSION 0.1
$onEmpty

Set ALLYEAR  'all years'       / 2000*2100 /;
Set S        'time slices'     / DAY, NIGHT /;
Set C        'commodities'     / ELC  'electricity'
                                 HET  'heat'
                                 CO2  'carbon dioxide' /;
Set DEMCOM(C) 'demand commodities' / ELC, HET /;

Scalar G_DRATE 'discount rate per year' / 0.05 /;
Scalar G_LIFE  'technical lifetime of new capacity (years)' / 30 /;

*=============================================================================*
* initmty.mod: empty declarations the data files (.dd) fill in.
*=============================================================================*
Set R         'regions';
Set T(ALLYEAR) 'milestone years';
Set P         'processes';
Set PRC_OUT(P,C) 'main output of a process';
Set PRC_REN(P)   'renewables with a regional potential';

Alias (R,R2), (T,T2);

Parameter
   NCAP_COST(R,P)   'investment cost per unit of new capacity'
   ACT_COST(R,P)    'variable cost per unit of activity'
   ACT_EMIS(P)      'CO2 per unit of activity'
   ELC_USE(P)       'electricity used per unit of activity'
   AF(P,S)          'availability factor per time slice'
   PEAK_CONT(P)     'contribution of capacity to the electricity peak'
   RESID(R,T,P)     'residual (existing) capacity'
   POTENTIAL(R,P)   'upper limit on cumulative new capacity'
   DEM0(R,C,S)      'base-year demand'
   DEM(R,T,C,S)     'demand per milestone year'
   TRD_CAP(R,R2)    'electricity link capacity'
   TRD_COST(R,R2)   'cost per unit traded'
   CO2_CAP(T)       'system-wide CO2 limit'
   S_FRAC(S)        'share of the year in a time slice';

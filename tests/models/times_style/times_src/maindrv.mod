*=============================================================================*
* maindrv.mod: model generator.  %1 = "mod" (the only mode of this demo).
*=============================================================================*
$if not "%1" == "mod" $abort maindrv.mod: unknown mode "%1"
$include eqmain.mod
$include solve.mod

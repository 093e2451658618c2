/* board.h: the reference actuator board's Modbus register map (docs/reference-board.md), as chair-sim
 * implements it. Unit id 1; every register type starts at address 0; an address not listed here answers
 * exception 2 (illegal data address). */
#pragma once

#define BOARD_UNIT_ID 1
#define BOARD_VERSION 0x0101 /* input register BOARD_IR_VERSION: major.minor in the high and low byte */

enum board_motor { BOARD_BACKREST, BOARD_LEGREST, BOARD_ROLLER, _BOARD_MOTOR_MAX };
enum board_zone { BOARD_SHOULDERS, BOARD_ARMS, BOARD_HIPS, BOARD_CALVES, BOARD_FEET, _BOARD_ZONE_MAX };
enum board_heater { BOARD_HEAT_LUMBAR, BOARD_HEAT_CALVES, _BOARD_HEATER_MAX };

/* Coils (read 0x01, write 0x05/0x0F). 0 is the safe value of every coil. */
enum {
        BOARD_COIL_RUN = 0,          /* + motor: drive toward its target register */
        BOARD_COIL_PUMP = 3,         /* the air pump */
        BOARD_COIL_INFLATE = 4,      /* + zone: inlet valve open */
        BOARD_COIL_HOLD = 9,         /* + zone: exhaust valve closed; 0 vents the zone (fails open) */
        BOARD_COIL_HEATER = 14,      /* + heater: element energized */
        BOARD_COIL_FAULT_CLEAR = 16, /* write 1: clear the latched board faults (reads 0) */
        BOARD_COIL_EXTEND = 17,      /* + 2 * motor: its extend relay (the host closes the loop) */
        BOARD_COIL_RETRACT = 18,     /* + 2 * motor: its retract relay */
        _BOARD_COIL_MAX = 23,
};

/* Discrete inputs (read 0x02). */
enum {
        BOARD_DI_ESTOP = 0,        /* 1 while the emergency-stop button is pressed */
        BOARD_DI_LIMIT = 1,        /* + 2 * motor + (0: retracted/top end, 1: extended/bottom end) */
        BOARD_DI_BODY = 7,         /* 1 while the roller touches the body (below the shoulders) */
        BOARD_DI_HEARTBEAT_OK = 8, /* 1 while the heartbeat is armed and fresh */
        _BOARD_DI_MAX = 9,
};

/* Holding registers (read 0x03, write 0x06/0x10). */
enum {
        BOARD_HR_HEARTBEAT = 0,         /* write any value at least every timeout */
        BOARD_HR_HEARTBEAT_TIMEOUT = 1, /* ms, 100 to 10000; default 500 */
        BOARD_HR_TARGET = 10,   /* + motor: axes in permille (0 upright .. 1000 full), roller in mm */
        BOARD_HR_KNEADING = 13, /* speed 0 (off) to 6 */
        BOARD_HR_TAPPING = 14,  /* speed 0 (off) to 6 */
        BOARD_HR_WIDTH = 15,    /* 0 narrow, 1 medium, 2 wide */
        BOARD_HR_DEPTH = 16,    /* 0 (retracted) to 5 */
        BOARD_HR_FOOT = 17,     /* foot rollers speed 0 (off) to 3 */
        _BOARD_HR_MAX = 18,
};

/* Input registers (read 0x04). */
enum {
        BOARD_IR_STATUS = 0, /* BOARD_STATUS_* bits */
        BOARD_IR_FAULTS = 1, /* BOARD_FAULT_* bits */
        BOARD_IR_VERSION = 2,
        BOARD_IR_POSITION = 10, /* + motor: axes in permille, roller in mm from the top */
        BOARD_IR_CURRENT = 20,  /* + motor: mA */
        BOARD_IR_TEMP = 30,     /* + heater: 0.1 deg C, signed */
        BOARD_IR_PRESSURE = 40, /* + zone: 0.1 kPa */
        BOARD_IR_PULSES = 45, /* + motor: its hall sensor's pulses, a running count that wraps at 16 bits */
        _BOARD_IR_MAX = 48,
};

enum {
        BOARD_STATUS_ESTOP = 1 << 0,
        BOARD_STATUS_HEARTBEAT_ARMED = 1 << 1,
        BOARD_STATUS_WATCHDOG_TRIPPED = 1 << 2, /* the heartbeat timed out; cleared by the next heartbeat */
        BOARD_STATUS_MOVING = 1 << 3,           /* some motor is being driven */
};

enum {
        BOARD_FAULT_OVERCURRENT = 1 << 0, /* << motor: current above the motor's rating (live) */
        BOARD_FAULT_SENSOR = 1 << 3,      /* << heater: temperature sensor open or shorted (live) */
        BOARD_FAULT_WATCHDOG = 1 << 5,    /* latched until BOARD_COIL_FAULT_CLEAR */
};

#define BOARD_MAX_SPEED      6
#define BOARD_MAX_WIDTH      2
#define BOARD_MAX_DEPTH      5
#define BOARD_MAX_FOOT_SPEED 3

@echo off
rem placeholder
